#include "test_files.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace stockfeed::testing {

std::string Shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  ::pclose(pipe);
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return output;
}

void WriteFile(const std::string& path, const std::string& content) { std::ofstream(path) << content; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TempDir::TempDir() {
  char pattern[] = "/tmp/stockfeed-keys-XXXXXX";
  const char* made = ::mkdtemp(pattern);
  path_ = made ? made : "/tmp";
}

TempDir::~TempDir() {
  if (path_ != "/tmp") std::filesystem::remove_all(path_);
}

TestCertificates::TestCertificates() {
  for (const auto& [cert, key, name] : {std::tuple{ca, ca_key, "stockfeed test CA"},
                                        std::tuple{other_ca, other_ca_key, "unrelated CA"}}) {
    Shell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=" + std::string(name) + "' -keyout " + key +
          " -out " + cert + " 2>/dev/null");
  }
  Issue("localhost", server_cert, server_key, ca, ca_key);
  Issue("gateway", client_cert, client_key, ca, ca_key);
}

void TestCertificates::Issue(const std::string& common_name, const std::string& cert, const std::string& key,
                             const std::string& ca_cert, const std::string& ca_key) {
  const std::string csr = cert + ".csr", extensions = cert + ".ext";
  WriteFile(extensions, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  Shell("openssl req -newkey rsa:2048 -nodes -subj '/CN=" + common_name + "' -keyout " + key + " -out " + csr +
        " 2>/dev/null && openssl x509 -req -days 2 -in " + csr + " -CA " + ca_cert + " -CAkey " + ca_key +
        " -CAcreateserial -extfile " + extensions + " -out " + cert + " 2>/dev/null");
}

bool TestCertificates::ok() const {
  for (const std::string& file : {ca, server_cert, server_key, client_cert, client_key, other_ca}) {
    if (ReadFile(file).find("-----BEGIN") == std::string::npos) return false;
  }
  return true;
}

std::string TestCertificates::Subject(const std::string& cert) {
  return Shell("openssl x509 -noout -subject -in " + cert);
}

}  // namespace stockfeed::testing
