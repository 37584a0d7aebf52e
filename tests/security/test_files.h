#pragma once

#include <string>

namespace stockfeed::testing {

// Runs a shell command; its stdout without the trailing newline.
std::string Shell(const std::string& command);
void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

// A fresh directory under /tmp, removed with its content at the end (not
// under TestOutputDir(): System starts by emptying that).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Certificates made with `openssl req` for one test: a CA, a server
// certificate for localhost / 127.0.0.1 and a client certificate signed by
// it, and an unrelated CA (the wrong one).
struct TestCertificates {
  TempDir dir;
  std::string ca = dir.path() + "/ca.pem", ca_key = dir.path() + "/ca.key";
  std::string server_cert = dir.path() + "/server.pem", server_key = dir.path() + "/server.key";
  std::string client_cert = dir.path() + "/client.pem", client_key = dir.path() + "/client.key";
  std::string other_ca = dir.path() + "/other-ca.pem", other_ca_key = dir.path() + "/other-ca.key";

  TestCertificates();
  // True when openssl made every file.
  bool ok() const;
  // Signs a new certificate for `common_name` (SAN localhost and 127.0.0.1)
  // with `ca_cert`/`ca_key`, written to `cert`/`key`.
  void Issue(const std::string& common_name, const std::string& cert, const std::string& key,
             const std::string& ca_cert, const std::string& ca_key);
  // The certificate's subject, as openssl prints it.
  static std::string Subject(const std::string& cert);
};

}  // namespace stockfeed::testing
