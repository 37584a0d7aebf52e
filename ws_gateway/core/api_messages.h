#pragma once

#include <string>
#include <vector>

namespace stockfeed::ws_gateway {

// {"symbols":[…],"sources":[…]}: the answer of GET /api/v1/symbols, the
// shape of price_service's ListSymbols. Sorts and removes repeats.
std::string EncodeSymbolList(std::vector<std::string> symbols, std::vector<std::string> sources);

}  // namespace stockfeed::ws_gateway
