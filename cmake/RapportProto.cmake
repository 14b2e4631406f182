# rapport_generate_protos(<out_var> PROTO_ROOT <dir> PROTOS <files...>
#                         [IMPORT_DIRS <dirs...>])
# Runs protoc with the C++ and gRPC generators over PROTOS (paths relative to
# PROTO_ROOT) and sets <out_var> to the generated .cc/.h files. Output lands in
# ${CMAKE_CURRENT_BINARY_DIR}/gen, mirroring the proto paths, so includes read
# "rapport/v1/contact.pb.h".
include("${CMAKE_CURRENT_LIST_DIR}/../sdk/cmake/RapportProtoc.cmake")

function(rapport_generate_protos out_var)
  cmake_parse_arguments(ARG "" "PROTO_ROOT" "PROTOS;IMPORT_DIRS" ${ARGN})
  rapport_protoc(outputs
    GEN_DIR "${CMAKE_CURRENT_BINARY_DIR}/gen"
    PROTO_ROOT "${ARG_PROTO_ROOT}"
    PROTOS ${ARG_PROTOS}
    IMPORT_DIRS "${ARG_PROTO_ROOT}" ${ARG_IMPORT_DIRS} "${Protobuf_INCLUDE_DIR}")
  set(${out_var} ${outputs} PARENT_SCOPE)
endfunction()

# rapport_embed_migrations(<out_var> NAMESPACE <ns> FUNCTION <name>
#                          SOURCES <NNNN_name.sql...>)
# Generates a .cc defining `std::vector<rapport::storage::Migration> <ns>::<name>()`
# from the migration files (see cmake/EmbedMigrations.cmake).
function(rapport_embed_migrations out_var)
  cmake_parse_arguments(ARG "" "NAMESPACE;FUNCTION" "SOURCES" ${ARGN})
  set(output "${CMAKE_CURRENT_BINARY_DIR}/${ARG_FUNCTION}_embedded.cc")
  list(SORT ARG_SOURCES)
  add_custom_command(
    OUTPUT "${output}"
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DNAMESPACE=${ARG_NAMESPACE}
      -DVARIABLE=${ARG_FUNCTION} "-DSOURCES=${ARG_SOURCES}"
      -P "${PROJECT_SOURCE_DIR}/cmake/EmbedMigrations.cmake"
    DEPENDS ${ARG_SOURCES} "${PROJECT_SOURCE_DIR}/cmake/EmbedMigrations.cmake"
    COMMENT "Embedding migrations for ${ARG_NAMESPACE}::${ARG_FUNCTION}"
    VERBATIM)
  set(${out_var} "${output}" PARENT_SCOPE)
endfunction()
