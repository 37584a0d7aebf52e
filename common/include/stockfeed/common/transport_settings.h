#pragma once

#include <string>

namespace stockfeed {

// How a client (the gateway, stockfeed_tail) reaches price_service.
// Plain (insecure) unless `ca_file` is set; then TLS, verified against that
// CA, with a client certificate (`cert_file` + `key_file`) for mutual TLS.
// `token_file` holds a bearer token sent on every call; gRPC sends call
// credentials only over TLS, so a token needs `ca_file`.
struct ClientTransportSettings {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string token_file;
  // The name the server's certificate must carry; empty: the address dialled.
  std::string server_name;

  bool tls() const { return !ca_file.empty(); }
};

// How price_service serves: plain unless `cert_file` + `key_file` are set;
// with `client_ca_file` every client must present a certificate signed by it.
struct ServerTransportSettings {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;

  bool tls() const { return !cert_file.empty() || !key_file.empty(); }
};
}  // namespace stockfeed
