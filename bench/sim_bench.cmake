# gpuscale simulate: the one-hour Azure conversation trace through 5 and 200 replicas (see
# bench/README.md, "sim").
if(TARGET gpuscale::sim)
  add_executable(sim_bench ${CMAKE_CURRENT_LIST_DIR}/sim_bench.cc)
  target_link_libraries(sim_bench PRIVATE gpuscale::sim benchmark::benchmark)
  target_compile_definitions(sim_bench PRIVATE
    GPUSCALE_TRACES_DIR="${PROJECT_SOURCE_DIR}/data/traces"
    GPUSCALE_SIM_TESTDATA="${PROJECT_SOURCE_DIR}/src/sim/testdata")
endif()
