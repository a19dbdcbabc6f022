// libFuzzer target: the Prometheus HTTP API JSON decoders.
#include <cstddef>
#include <cstdint>

#include "prom_fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gpuscale::fuzz::PromJsonOne({reinterpret_cast<const char*>(data), size});
  return 0;
}
