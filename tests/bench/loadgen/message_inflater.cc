#include "message_inflater.h"

#include <algorithm>

#include <boost/beast/zlib/error.hpp>

#include "ws_frame_reader.h"

namespace stockfeed::bench {

namespace zlib = boost::beast::zlib;

std::optional<std::string_view> MessageInflater::Inflate(zlib::inflate_stream& stream,
                                                         std::string_view compressed) {
  // Senders strip this tail of the sync flush off every message (§7.2.1).
  static constexpr char kFlushTail[] = {'\x00', '\x00', '\xff', '\xff'};
  constexpr size_t kInitialSize = 64 * 1024;
  // One byte more than allowed, so that running out of room means too big.
  constexpr size_t kLimit = WsFrameReader::kMaxMessageBytes + 1;

  zlib::z_params zs{};
  size_t produced = 0;
  const std::string_view tail(kFlushTail, sizeof kFlushTail);
  for (const std::string_view input : {compressed, tail}) {
    zs.next_in = input.data();
    zs.avail_in = input.size();
    do {
      if (produced == out_.size()) {
        if (out_.size() == kLimit) return std::nullopt;
        out_.resize(std::clamp(2 * out_.size(), kInitialSize, kLimit));
      }
      zs.next_out = out_.data() + produced;
      zs.avail_out = out_.size() - produced;
      boost::system::error_code ec;
      stream.write(zs, zlib::Flush::sync, ec);
      produced = out_.size() - zs.avail_out;
      // need_buffers: no progress was possible, so all output is out.
      if (ec == zlib::error::need_buffers && zs.avail_in == 0) break;
      if (ec) return std::nullopt;
    } while (zs.avail_in > 0 || zs.avail_out == 0);
  }
  return std::string_view(out_.data(), produced);
}

}  // namespace stockfeed::bench
