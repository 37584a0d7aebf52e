#include "deflate.h"

#include <boost/beast/zlib/deflate_stream.hpp>

namespace stockfeed::ws_gateway {

std::string DeflateMessage(absl::string_view payload) {
  namespace zlib = boost::beast::zlib;
  zlib::deflate_stream stream;
  stream.reset(6, kDeflateWindowBits, 4, zlib::Strategy::normal);
  // Deflate can exceed its input by a few bytes per block; the flush marker adds 4-5.
  std::string out(stream.upper_bound(payload.size()) + 16, '\0');
  zlib::z_params params;
  params.next_in = payload.data();
  params.avail_in = payload.size();
  params.next_out = out.data();
  params.avail_out = out.size();
  boost::system::error_code ec;
  stream.write(params, zlib::Flush::sync, ec);
  out.resize(params.total_out);
  // A sync flush ends with an empty stored block, 00 00 ff ff, which the
  // receiver adds back (RFC 7692 §7.2.2).
  if (out.size() >= 4 && out.compare(out.size() - 4, 4, std::string("\x00\x00\xff\xff", 4)) == 0) {
    out.resize(out.size() - 4);
  }
  return out;
}

}  // namespace stockfeed::ws_gateway
