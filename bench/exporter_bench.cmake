# The exporter: collection and scrape cost for 8 emulated GPUs with pod labels, and /metrics
# throughput, CPU per scrape and RSS beside node_exporter in the same run (bench/README.md,
# "exporter"). It starts processes through the test support library, so it exists only when
# tests are built.
if(TARGET gpuscale::test_process)
  add_executable(exporter_bench ${CMAKE_CURRENT_LIST_DIR}/exporter_bench.cc)
  target_link_libraries(exporter_bench PRIVATE gpuscale::exporter gpuscale::gpu_emu_state
                        gpuscale::podresources_testing gpuscale::test_process benchmark::benchmark)
  add_dependencies(exporter_bench gpuscale gpuscale-nvml-emu)
  target_compile_definitions(exporter_bench PRIVATE
    GPUSCALE_NVML_EMU_PATH="$<TARGET_FILE:gpuscale-nvml-emu>")
endif()
