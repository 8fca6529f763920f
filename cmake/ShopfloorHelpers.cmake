# Shared build helpers: warnings as errors on our own code, one library per module,
# one GoogleTest executable per test file.

function(shopfloor_warnings target)
  # -Wno-restrict: g++ 12 reports false positives inside std::string at -O3 (GCC bug 105329).
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror
    -Wno-missing-field-initializers -Wno-restrict)
endfunction()

# shopfloor_module(<name> DEPS <libs...>)
# Builds src/<name>/**/*.cc (except *_main.cc) into the static library sf_<name>.
function(shopfloor_module name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "_main\\.cc$")
  if(srcs)
    add_library(sf_${name} STATIC ${srcs})
    target_include_directories(sf_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(sf_${name} PUBLIC ${ARG_DEPS})
    shopfloor_warnings(sf_${name})
  else()
    add_library(sf_${name} INTERFACE)
    target_include_directories(sf_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(sf_${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()

# shopfloor_tests(<module> LIBS <libs...>)
# Each tests/<module>/*_test.cc becomes one executable registered with CTest.
# Tests are labelled with the module name; files named *_slow_test.cc get label "slow".
function(shopfloor_tests module)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  foreach(test_src ${tests})
    get_filename_component(test_name ${test_src} NAME_WE)
    set(exe ${module}_${test_name})
    add_executable(${exe} ${test_src})
    target_link_libraries(${exe} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
    target_compile_definitions(${exe} PRIVATE
      SHOPFLOOR_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
      SHOPFLOOR_BINARY_DIR="${PROJECT_BINARY_DIR}")
    shopfloor_warnings(${exe})
    add_test(NAME ${exe} COMMAND ${exe})
    set(labels ${module})
    if(test_name MATCHES "_slow_test$")
      list(APPEND labels slow)
    endif()
    set_tests_properties(${exe} PROPERTIES LABELS "${labels}" TIMEOUT 600
      ENVIRONMENT "SHOPFLOOR_SHARED_DATA=${PROJECT_SOURCE_DIR}/../shared/data")
  endforeach()
endfunction()

# shopfloor_fuzz(<name> LIBS <libs...>)
# fuzz/<name>_fuzz.cc defines LLVMFuzzerTestOneInput. With clang and SHOPFLOOR_LIBFUZZER it
# links libFuzzer; otherwise a replay driver that runs the seed corpus in
# fuzz/corpus/<name>/ plus deterministic random mutations, registered with CTest.
function(shopfloor_fuzz name)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  set(exe fuzz_${name})
  if(SHOPFLOOR_LIBFUZZER)
    add_executable(${exe} ${CMAKE_CURRENT_SOURCE_DIR}/${name}_fuzz.cc)
    target_compile_options(${exe} PRIVATE -fsanitize=fuzzer)
    target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${exe} ${CMAKE_CURRENT_SOURCE_DIR}/${name}_fuzz.cc
                          ${CMAKE_CURRENT_SOURCE_DIR}/replay_main.cc)
    if(SHOPFLOOR_TESTS)
      add_test(NAME ${exe} COMMAND ${exe} --iterations=20000
               ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name})
      set_tests_properties(${exe} PROPERTIES LABELS "fuzz" TIMEOUT 300)
    endif()
  endif()
  target_link_libraries(${exe} PRIVATE ${ARG_LIBS})
  shopfloor_warnings(${exe})
endfunction()
