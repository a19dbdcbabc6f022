# The hpa library: decisions per second for a 1,000-pod Pods-metric HPA with behavior, beside the
# legacy path and a CPU Resource metric on the same pods (bench/README.md, "hpa").
add_executable(hpa_bench ${CMAKE_CURRENT_LIST_DIR}/hpa_bench.cc)
target_link_libraries(hpa_bench PRIVATE gpuscale::hpa benchmark::benchmark)
