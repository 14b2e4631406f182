# rapport_generate_protos(<out_var> PROTO_ROOT <dir> PROTOS <files...>
#                         [IMPORT_DIRS <dirs...>])
# Runs protoc with the C++ and gRPC generators over PROTOS (paths relative to
# PROTO_ROOT) and sets <out_var> to the generated .cc/.h files. Output lands in
# ${CMAKE_CURRENT_BINARY_DIR}/gen, mirroring the proto paths, so includes read
# "rapport/v1/contact.pb.h".
function(rapport_generate_protos out_var)
  cmake_parse_arguments(ARG "" "PROTO_ROOT" "PROTOS;IMPORT_DIRS" ${ARGN})
  set(gen_dir "${CMAKE_CURRENT_BINARY_DIR}/gen")
  file(MAKE_DIRECTORY "${gen_dir}")
  set(import_flags "-I${ARG_PROTO_ROOT}")
  foreach(dir IN LISTS ARG_IMPORT_DIRS)
    list(APPEND import_flags "-I${dir}")
  endforeach()
  list(APPEND import_flags "-I${Protobuf_INCLUDE_DIR}")
  set(outputs)
  foreach(proto IN LISTS ARG_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    set(files
      "${gen_dir}/${stem}.pb.cc" "${gen_dir}/${stem}.pb.h"
      "${gen_dir}/${stem}.grpc.pb.cc" "${gen_dir}/${stem}.grpc.pb.h")
    add_custom_command(
      OUTPUT ${files}
      COMMAND protobuf::protoc
        --cpp_out=${gen_dir} --grpc_out=${gen_dir}
        --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN}
        ${import_flags} "${ARG_PROTO_ROOT}/${proto}"
      DEPENDS "${ARG_PROTO_ROOT}/${proto}" protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND outputs ${files})
  endforeach()
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
