#include "stockfeed/common/symbol_filter.h"

namespace stockfeed {

SymbolFilter::SymbolFilter(const std::vector<std::string>& symbols,
                           const std::vector<std::string>& sources)
    : symbols_(symbols.begin(), symbols.end()), sources_(sources.begin(), sources.end()) {}

}  // namespace stockfeed
