# adapter: the Pods query, answer encoding and discovery CPU paths.
add_executable(adapter_bench ${CMAKE_CURRENT_LIST_DIR}/adapter_bench.cc)
target_link_libraries(adapter_bench PRIVATE gpuscale::adapter benchmark::benchmark gpuscale_warnings)
target_compile_definitions(adapter_bench PRIVATE GPUSCALE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
