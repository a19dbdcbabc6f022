// The bodies of the prom fuzz targets, shared by the libFuzzer executables and the unit test
// that replays the seed corpora. Each aborts (a bug) when an invariant breaks; bad input is
// fine and returns normally.
#pragma once

#include <string_view>

namespace gpuscale::fuzz {

// ParseText; on success, Render must parse back to the same families and render identically.
void PromTextOne(std::string_view data);
// DecodeQueryResponse, DecodeSeriesResponse and DecodeLabelsResponse; errors must say something.
void PromJsonOne(std::string_view data);

}  // namespace gpuscale::fuzz
