# Helpers that give every gpuscale target the same standard, include root and warnings.

add_library(gpuscale_warnings INTERFACE)
target_compile_options(gpuscale_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wnon-virtual-dtor -Wno-missing-field-initializers)
if(GPUSCALE_WERROR)
  target_compile_options(gpuscale_warnings INTERFACE -Werror)
endif()

# gpuscale_library(name SOURCES a.cc b.cc DEPS other_libs...)
# Defines gpuscale_<name> with alias gpuscale::<name>.
function(gpuscale_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(gpuscale_${name} STATIC ${ARG_SOURCES})
  add_library(gpuscale::${name} ALIAS gpuscale_${name})
  target_include_directories(gpuscale_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(gpuscale_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS}
                        gpuscale_warnings)
endfunction()

# gpuscale_test(name SOURCES a_test.cc DEPS libs... [LABELS unit] [DATA_DIR dir])
# One GoogleTest executable; each test case becomes a CTest test with the given labels
# (default: unit). Tests run with the source directory as working directory so testdata/
# paths are relative to the test's own folder.
function(gpuscale_test name)
  if(NOT GPUSCALE_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main
                        gpuscale_warnings)
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()
