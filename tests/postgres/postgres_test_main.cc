// main() for PostgreSQL test binaries: one throwaway cluster per binary.
#include "gtest/gtest.h"
#include "postgres_cluster.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new stockfeed::testing::PostgresEnvironment);
  return RUN_ALL_TESTS();
}
