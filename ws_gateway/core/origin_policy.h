#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "request_head.h"

namespace stockfeed::ws_gateway {

// Which web pages may talk to the gateway (cross-site WebSocket hijacking):
// a browser always sends the page's Origin, so a page elsewhere is refused
// with 403 before the upgrade. Requests without Origin (curl, programs) pass:
// they are not a browser acting for someone, and token auth covers them.
class OriginPolicy {
 public:
  // `allowed`: exact origins ("https://app.example.com", "http://host:8080"),
  // host patterns ("*.example.com", any scheme and port; "https://*.example.com")
  // "null" (pages opened from disk, which browsers send as Origin: null; so do
  // sandboxed frames of any site) or "*" (any page: only sensible together with
  // token auth). Empty: loopback pages (localhost, 127.0.0.0/8, [::1]) on any
  // port and pages from disk, so the workshop's dashboard.html works as shipped.
  // The gateway's own origin (the page's host:port is the request's Host) is
  // always allowed.
  static absl::StatusOr<OriginPolicy> Create(const std::vector<std::string>& allowed);

  std::optional<Rejection> Check(const RequestHead& head) const;
  bool Allows(absl::string_view origin, absl::string_view host) const;

 private:
  struct Pattern {
    std::string scheme;  // empty: any
    std::string host;    // exact host, or the suffix after "*" (".example.com")
    bool wildcard = false;
    std::optional<int> port;  // exact entries: the port (default for the scheme)
  };
  std::vector<Pattern> patterns_;
  bool any_ = false;
  bool loopback_ = false;
  bool null_origin_ = false;
};

}  // namespace stockfeed::ws_gateway
