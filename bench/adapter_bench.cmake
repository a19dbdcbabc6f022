# adapter: the Pods query, answer encoding and discovery CPU paths.
add_executable(adapter_bench ${CMAKE_CURRENT_LIST_DIR}/adapter_bench.cc)
target_link_libraries(adapter_bench PRIVATE gpuscale::adapter benchmark::benchmark gpuscale_warnings)
target_compile_definitions(adapter_bench PRIVATE GPUSCALE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# adapter_vs_peer: gpuscale adapter beside prometheus-adapter (processes, same kube-apiserver and
# fake Prometheus); needs the test support libraries, so it exists only when tests are built.
if(TARGET gpuscale::test_adapters)
  add_executable(adapter_vs_peer ${CMAKE_CURRENT_LIST_DIR}/adapter_vs_peer.cc)
  target_link_libraries(adapter_vs_peer PRIVATE gpuscale::test_adapters CLI11::CLI11 fmt::fmt
                        gpuscale_warnings)
  target_compile_definitions(adapter_vs_peer PRIVATE GPUSCALE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endif()
