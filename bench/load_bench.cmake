# The load generator: micro benchmarks of its hot paths, and the small server that
# bench/load_vs_wrk.sh drives with wrk and `gpuscale load` in one run (see bench/README.md, "load").
add_executable(load_bench ${CMAKE_CURRENT_LIST_DIR}/load_bench.cc)
target_link_libraries(load_bench PRIVATE gpuscale::load benchmark::benchmark)
add_executable(load_bench_server ${CMAKE_CURRENT_LIST_DIR}/load_bench_server.cc)
target_link_libraries(load_bench_server PRIVATE gpuscale::http gpuscale::core)
