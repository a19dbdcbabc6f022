# HTTP server + client throughput on loopback (see bench/README.md, "http").
add_executable(http_bench ${CMAKE_CURRENT_LIST_DIR}/http_bench.cc)
target_link_libraries(http_bench PRIVATE gpuscale::http benchmark::benchmark)
