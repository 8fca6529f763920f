# shopfloor_fuzz(<name> LIBS ...) for each fuzz/<name>_fuzz.cc
shopfloor_fuzz(plant_config LIBS sf_model)
shopfloor_fuzz(lineproto LIBS sf_connect)
shopfloor_fuzz(block LIBS sf_storage)
shopfloor_fuzz(wal LIBS sf_storage)
if(TARGET sf_bench_storage)  # bench/ is configured only with SHOPFLOOR_BENCH
  shopfloor_fuzz(bench_inputs LIBS sf_bench_storage)
endif()
shopfloor_fuzz(chunk LIBS sf_storage)
shopfloor_fuzz(http_params LIBS sf_server)
shopfloor_fuzz(wal_record LIBS sf_storage)
shopfloor_fuzz(rollup LIBS sf_storage)
shopfloor_fuzz(auth_token LIBS sf_auth)
shopfloor_fuzz(live_message LIBS sf_server)
