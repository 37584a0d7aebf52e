# cmake -DOUTPUT=file.cc -P embed_migrations.cmake a.sql b.sql ...
# Writes a C++ file defining stockfeed::price_service::EmbeddedMigrations()
# with the text of every NNN_name.sql, so price_service needs no files at run
# time. Called at build time by price_service/CMakeLists.txt.
set(entries "")
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE 0 ${last})
  set(arg "${CMAKE_ARGV${i}}")
  if(NOT arg MATCHES "\\.sql$")
    continue()
  endif()
  get_filename_component(name "${arg}" NAME_WE)
  if(NOT name MATCHES "^([0-9][0-9][0-9])_([a-z0-9_]+)$")
    message(FATAL_ERROR "migration ${arg}: name must look like 001_some_name.sql")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")  # drops leading zeros
  file(READ "${arg}" sql)
  if(sql MATCHES "\\)migration\"")
    message(FATAL_ERROR "migration ${arg} contains the raw string delimiter )migration\"")
  endif()
  string(APPEND entries "      {${version}, \"${name}\", R\"migration(${sql})migration\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from deploy/postgres/migrations by embed_migrations.cmake. Do not edit.
#include \"sources/postgres_migrations.h\"

namespace stockfeed::price_service {

const std::vector<Migration>& EmbeddedMigrations() {
  static const std::vector<Migration> migrations = {
${entries}  };
  return migrations;
}

}  // namespace stockfeed::price_service
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
