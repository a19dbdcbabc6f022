# prom: the exposition parser/writer and the Prometheus API JSON decoders.
add_library(gpuscale_fuzz_prom STATIC ${CMAKE_CURRENT_LIST_DIR}/prom_fuzz_entries.cc)
target_include_directories(gpuscale_fuzz_prom PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(gpuscale_fuzz_prom PUBLIC gpuscale::prom gpuscale::prom_json
                      PRIVATE gpuscale_warnings)

gpuscale_test(prom_fuzz_corpus_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/prom_corpus_test.cc
              DEPS gpuscale_fuzz_prom)
gpuscale_fuzzer(prom_text_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/prom_text_fuzz.cc
                DEPS gpuscale_fuzz_prom)
gpuscale_fuzzer(prom_json_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/prom_json_fuzz.cc
                DEPS gpuscale_fuzz_prom)
