# rapport_add_test(<name> SOURCES <files...> [LIBS <targets...>]
#                  [LABELS <labels...>] [FIXTURES <fixtures...>])
# One GoogleTest binary registered as one CTest test. Unit tests carry the
# label "unit"; tests that need the private MariaDB name the "mariadb"
# fixture, which tests/support starts once per ctest run and stops after.
function(rapport_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS;FIXTURES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gmock GTest::gtest
                        GTest::gtest_main rapport_warnings)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
  if(ARG_FIXTURES)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${ARG_FIXTURES}"
      ENVIRONMENT "RAPPORT_TEST_DB_DIR=${RAPPORT_TEST_DB_DIR}")
  endif()
endfunction()
