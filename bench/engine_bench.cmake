# gpuscale engine: model step cost, the Azure conversation trace through 5 replicas in virtual
# time, and concurrent streaming requests with token-timing error (see bench/README.md, "engine").
add_executable(engine_bench ${CMAKE_CURRENT_LIST_DIR}/engine_bench.cc)
target_link_libraries(engine_bench PRIVATE gpuscale::engine_server gpuscale::http
                      benchmark::benchmark)
target_compile_definitions(engine_bench PRIVATE
  GPUSCALE_TRACES_DIR="${PROJECT_SOURCE_DIR}/../shared/data/traces")
