#include "core/rng.h"

namespace gpuscale::core {

std::uint64_t Rng::RandomSeed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace gpuscale::core
