#include "api_messages.h"

#include <algorithm>

#include "json_writer.h"

namespace stockfeed::ws_gateway {
namespace {

void SortedUnique(std::vector<std::string>& names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
}

}  // namespace

std::string EncodeSymbolList(std::vector<std::string> symbols, std::vector<std::string> sources) {
  SortedUnique(symbols);
  SortedUnique(sources);
  std::string out;
  JsonWriter json(out);
  json.BeginObject().BeginArray("symbols");
  for (const std::string& symbol : symbols) json.StringElement(symbol);
  json.EndArray().BeginArray("sources");
  for (const std::string& source : sources) json.StringElement(source);
  json.EndArray().EndObject();
  return out;
}

}  // namespace stockfeed::ws_gateway
