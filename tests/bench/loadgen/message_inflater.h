// Decompresses whole permessage-deflate messages (RFC 7692 §7.2.2).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <boost/beast/zlib/inflate_stream.hpp>

namespace stockfeed::bench {

class MessageInflater {
 public:
  // Inflates one message's whole compressed payload with `stream`: the
  // connection's own when the server keeps its LZ77 window between messages,
  // else any reset one. The result is valid until the next call; nullopt if
  // the data is corrupt or inflates to over WsFrameReader::kMaxMessageBytes.
  std::optional<std::string_view> Inflate(boost::beast::zlib::inflate_stream& stream,
                                          std::string_view compressed);

 private:
  std::vector<char> out_;  // reused; grows to the largest message seen
};

}  // namespace stockfeed::bench
