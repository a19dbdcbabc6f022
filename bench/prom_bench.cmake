# prom: exposition render and parse on realistic bodies.
add_executable(prom_bench ${CMAKE_CURRENT_LIST_DIR}/prom_bench.cc)
target_link_libraries(prom_bench PRIVATE gpuscale::prom benchmark::benchmark gpuscale_warnings)
