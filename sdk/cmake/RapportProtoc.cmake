# rapport_protoc(<out_var> GEN_DIR <dir> PROTO_ROOT <dir> PROTOS <files...>
#                [IMPORT_DIRS <dirs...>] [COMMENT <text>])
# Adds one protoc command per proto (C++ messages and gRPC services) and sets
# <out_var> to the generated .pb.cc/.pb.h/.grpc.pb.cc/.grpc.pb.h files.
# PROTOS are paths relative to PROTO_ROOT; output mirrors them under GEN_DIR.
# IMPORT_DIRS are passed as -I in order (put the one that must win first).
# Shared by the server build (rapport_generate_protos) and plugins
# (rapport_add_plugin); installed with the SDK's CMake package.
include_guard(GLOBAL)

if(NOT GRPC_CPP_PLUGIN)
  find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin)
endif()

function(rapport_protoc out_var)
  cmake_parse_arguments(ARG "" "GEN_DIR;PROTO_ROOT;COMMENT"
                        "PROTOS;IMPORT_DIRS" ${ARGN})
  set(import_flags ${ARG_IMPORT_DIRS})
  list(REMOVE_DUPLICATES import_flags)
  list(TRANSFORM import_flags PREPEND "-I")
  file(MAKE_DIRECTORY "${ARG_GEN_DIR}")
  set(outputs)
  foreach(proto IN LISTS ARG_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    set(files
      "${ARG_GEN_DIR}/${stem}.pb.cc" "${ARG_GEN_DIR}/${stem}.pb.h"
      "${ARG_GEN_DIR}/${stem}.grpc.pb.cc" "${ARG_GEN_DIR}/${stem}.grpc.pb.h")
    add_custom_command(
      OUTPUT ${files}
      COMMAND protobuf::protoc
        --cpp_out=${ARG_GEN_DIR} --grpc_out=${ARG_GEN_DIR}
        --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN}
        ${import_flags} "${ARG_PROTO_ROOT}/${proto}"
      DEPENDS "${ARG_PROTO_ROOT}/${proto}" protobuf::protoc
      COMMENT "protoc ${proto}${ARG_COMMENT}"
      VERBATIM)
    list(APPEND outputs ${files})
  endforeach()
  set(${out_var} ${outputs} PARENT_SCOPE)
endfunction()
