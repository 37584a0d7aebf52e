#include "static_file_response.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <boost/beast/core/file.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>

#include "core/static_files.h"

namespace stockfeed::ws_gateway {
namespace {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;

http::message_generator Refusal(const Request& request, http::status status, absl::string_view body) {
  http::response<http::string_body> response{status, request.version()};
  response.set(http::field::server, "stockfeed-ws-gateway");
  response.set(http::field::content_type, "text/plain");
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.keep_alive(request.keep_alive());
  if (request.method() != http::verb::head) response.body() = std::string(body);
  response.prepare_payload();
  return response;
}

// Where an open descriptor really points (every symlink resolved).
std::string RealPathOf(int fd) {
  char buffer[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t size = ::readlink(link.c_str(), buffer, sizeof buffer);
  return size > 0 ? std::string(buffer, static_cast<size_t>(size)) : std::string();
}

std::string RealPathOf(const std::string& path) {
  char buffer[PATH_MAX];
  return ::realpath(path.c_str(), buffer) != nullptr ? std::string(buffer) : std::string();
}

}  // namespace

http::message_generator StaticFileResponse(const Request& request, absl::string_view web_root,
                                           http::status& status) {
  const auto refuse = [&](http::status with, absl::string_view body) {
    status = with;
    return Refusal(request, with, body);
  };
  status = http::status::ok;
  const absl::string_view target(request.target().data(), request.target().size());
  const std::optional<std::string> path = ResolveStaticPath(web_root, target);
  if (!path) return refuse(http::status::bad_request, "bad path\n");
  const std::optional<absl::string_view> content_type = ServedContentType(*path);
  if (!content_type) return refuse(http::status::not_found, "not found\n");

  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(path->c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return refuse(http::status::not_found, "not found\n");
  boost::beast::file file;
  file.native_handle(fd);  // owns it from here
  struct stat file_status {};
  if (::fstat(fd, &file_status) != 0) return refuse(http::status::not_found, "not found\n");
  const FileKind kind = S_ISREG(file_status.st_mode)   ? FileKind::kRegular
                        : S_ISDIR(file_status.st_mode) ? FileKind::kDirectory
                                                  : FileKind::kOther;
  switch (JudgeOpenedFile(kind, RealPathOf(fd), RealPathOf(std::string(web_root)))) {
    case StaticVerdict::kServe:
      break;
    case StaticVerdict::kForbidden:
      return refuse(http::status::forbidden, "forbidden\n");
    case StaticVerdict::kNotFound:
      return refuse(http::status::not_found, "not found\n");
  }

  http::file_body::value_type body;
  boost::beast::error_code ec;
  body.reset(std::move(file), ec);
  if (ec) return refuse(http::status::not_found, "not found\n");
  http::response<http::file_body> response{http::status::ok, request.version()};
  response.set(http::field::server, "stockfeed-ws-gateway");
  response.set(http::field::content_type, std::string(*content_type));
  const absl::string_view url_path = target.substr(0, target.find('?'));
  response.set(http::field::cache_control, std::string(CacheControlFor(url_path)));
  response.set("X-Content-Type-Options", "nosniff");
  response.keep_alive(request.keep_alive());
  if (request.method() == http::verb::head) {
    response.content_length(body.size());
    return http::response<http::empty_body>(response.base());
  }
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

}  // namespace stockfeed::ws_gateway
