#include "gpu/fields.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace gpuscale::gpu {
namespace {

TEST(FieldsTest, CatalogueHasUniqueNamesAndIds) {
  std::set<std::string_view> names;
  std::set<int> ids;
  for (const FieldInfo& f : AllFields()) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    EXPECT_TRUE(ids.insert(static_cast<int>(f.id)).second) << f.name;
    EXPECT_EQ(FindField(f.name), &f);
    EXPECT_EQ(&GetField(f.id), &f);
  }
  EXPECT_EQ(FindField("DCGM_FI_DEV_NOPE"), nullptr);
}

TEST(FieldsTest, KindsAndHelpMatchDcgmExporter) {
  EXPECT_EQ(GetField(FieldId::kPowerUsage).kind, ValueKind::kDouble);
  EXPECT_EQ(GetField(FieldId::kGpuUtil).kind, ValueKind::kInt64);
  EXPECT_EQ(GetField(FieldId::kProfPcieTxBytes).kind, ValueKind::kInt64);
  EXPECT_EQ(GetField(FieldId::kProfDramActive).kind, ValueKind::kDouble);
  EXPECT_EQ(GetField(FieldId::kDriverVersion).kind, ValueKind::kString);
  EXPECT_EQ(GetField(FieldId::kGpuUtil).help, "GPU utilization (in %).");
  EXPECT_EQ(GetField(FieldId::kTotalEnergyConsumption).help,
            "Total energy consumption since boot (in mJ).");
  EXPECT_EQ(static_cast<int>(FindField("DCGM_FI_DEV_FB_USED")->id), 252);
}

}  // namespace
}  // namespace gpuscale::gpu
