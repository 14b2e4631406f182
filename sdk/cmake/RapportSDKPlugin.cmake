# rapport_add_plugin(<target>
#                    SOURCES <files...>
#                    [PROTOS <files...>]       # relative to PROTO_ROOT
#                    [PROTO_ROOT <dir>]        # default: <current source dir>/protos
#                    [OUTPUT_NAME <name>])     # default: <target>
#
# Builds a Rapport plugin: a shared library named lib<OUTPUT_NAME>.so (the
# "lib" prefix is always added and the suffix is always ".so", whatever the
# platform defaults say; so OUTPUT_NAME "loyalty" gives libloyalty.so, and
# OUTPUT_NAME "libloyalty" would give liblibloyalty.so).
#
# What it does, and why (shared/design/PLUGINS.md, "Known traps"):
# - Runs protoc and grpc_cpp_plugin on the plugin's OWN protos only. Their
#   imports of the core protos ("rapport/v1/contact.proto") resolve against
#   the SDK's copy, and the generated code of the core protos comes from
#   librapport_sdk.so: compiling it again would abort the server at load
#   ("File already exists in database"). Listing a rapport/v1/ proto in
#   PROTOS is an error.
# - Compiles as C++20, position-independent, with hidden visibility
#   (-fvisibility=hidden -fvisibility-inlines-hidden): the only symbols the
#   library exports are the two RAPPORT_PLUGIN aliases.
# - Links RapportSDK::sdk, and through it the system's shared protobuf,
#   gRPC, Abseil (never static copies: one of each per process).
# - Links with --no-undefined, so a symbol the plugin uses but does not link
#   is a link error now rather than a load failure in production. A plugin
#   needs nothing from the rapportd executable itself: the Host is reached
#   through virtual calls only.
# - Defines BOOST_DLL_USE_STD_FS (see below).
#
# The library is a CMake MODULE (loaded with dlopen, never linked against).
# To unit-test the plugin's logic, compile its sources into a test
# executable; the generated code of the plugin's protos is listed in the
# target properties RAPPORT_PLUGIN_PROTO_SOURCES (the .cc and .h files) and
# RAPPORT_PLUGIN_PROTO_INCLUDE_DIR (same directory only: they are outputs of
# custom commands).
#
# Works in the Rapport source tree (sdk/CMakeLists.txt includes it) and from
# the installed package (RapportSDKConfig.cmake includes it); both set the
# global property RAPPORT_SDK_CORE_PROTO_DIR and define RapportSDK::sdk.

include("${CMAKE_CURRENT_LIST_DIR}/RapportProtoc.cmake")  # rapport_protoc()

function(rapport_add_plugin target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "PROTO_ROOT;OUTPUT_NAME"
                        "SOURCES;PROTOS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
      "rapport_add_plugin(${target}): unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "rapport_add_plugin(${target}): SOURCES is required")
  endif()
  if(NOT TARGET RapportSDK::sdk)
    message(FATAL_ERROR
      "rapport_add_plugin(${target}): RapportSDK::sdk is not defined; "
      "call find_package(RapportSDK) first")
  endif()
  if(NOT ARG_OUTPUT_NAME)
    set(ARG_OUTPUT_NAME "${target}")
  endif()

  set(generated)
  set(gen_dir "${CMAKE_CURRENT_BINARY_DIR}/${target}_protos")
  if(ARG_PROTOS)
    if(NOT TARGET protobuf::protoc)
      message(FATAL_ERROR "rapport_add_plugin(${target}): protoc not found "
                          "(Debian: apt install protobuf-compiler)")
    endif()
    if(NOT GRPC_CPP_PLUGIN)
      message(FATAL_ERROR "rapport_add_plugin(${target}): grpc_cpp_plugin not "
                          "found (Debian: apt install protobuf-compiler-grpc)")
    endif()
    get_property(core_proto_dir GLOBAL PROPERTY RAPPORT_SDK_CORE_PROTO_DIR)
    if(NOT core_proto_dir OR NOT EXISTS "${core_proto_dir}/rapport/v1")
      message(FATAL_ERROR "rapport_add_plugin(${target}): the SDK's core protos "
                          "are missing (looked in '${core_proto_dir}')")
    endif()
    if(NOT ARG_PROTO_ROOT)
      set(ARG_PROTO_ROOT "${CMAKE_CURRENT_SOURCE_DIR}/protos")
    endif()
    get_filename_component(proto_root "${ARG_PROTO_ROOT}" ABSOLUTE
                           BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    foreach(proto IN LISTS ARG_PROTOS)
      if(proto MATCHES "^rapport/v1/")
        message(FATAL_ERROR "rapport_add_plugin(${target}): ${proto} is a core "
          "proto; import it, never compile it (its code is in librapport_sdk.so)")
      endif()
    endforeach()
    # The core protos come first: an import of "rapport/v1/..." always
    # resolves to the SDK's copy, the one librapport_sdk.so was built from.
    rapport_protoc(generated
      GEN_DIR "${gen_dir}"
      PROTO_ROOT "${proto_root}"
      PROTOS ${ARG_PROTOS}
      IMPORT_DIRS "${core_proto_dir}" "${proto_root}" "${Protobuf_INCLUDE_DIR}"
      COMMENT " (plugin ${target})")
  endif()

  add_library(${target} MODULE ${ARG_SOURCES} ${generated})
  if(generated)
    target_include_directories(${target} PRIVATE "${gen_dir}")
  endif()
  target_link_libraries(${target} PRIVATE RapportSDK::sdk)
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  # rapport/sdk/plugin.h includes Boost.DLL's alias.hpp, which by default
  # pulls in Boost.Filesystem and Boost.System headers; their classes have
  # default visibility, so every plugin would export Boost.System's vtables
  # and error categories. With std::filesystem nothing but the aliases is
  # exported. (The plugin does not share any Boost.DLL object with the host,
  # so the host may use either setting.)
  target_compile_definitions(${target} PRIVATE BOOST_DLL_USE_STD_FS)
  set_target_properties(${target} PROPERTIES
    RAPPORT_PLUGIN_PROTO_SOURCES "${generated}"
    RAPPORT_PLUGIN_PROTO_INCLUDE_DIR "${gen_dir}"
    CXX_EXTENSIONS OFF
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON
    PREFIX "lib"
    SUFFIX ".so"
    OUTPUT_NAME "${ARG_OUTPUT_NAME}")
endfunction()
