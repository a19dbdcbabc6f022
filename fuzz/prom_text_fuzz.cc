// libFuzzer target: the Prometheus text exposition parser and writer.
#include <cstddef>
#include <cstdint>

#include "prom_fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gpuscale::fuzz::PromTextOne({reinterpret_cast<const char*>(data), size});
  return 0;
}
