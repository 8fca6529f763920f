// The OpenAPI 3 document of the REST API, generated from the Router's route table so it
// lists exactly what is served (tests/server/openapi_test.cc calls every documented route).
#pragma once

#include <string>

#include "server/router.h"

namespace shopfloor::server {

std::string BuildOpenApi(const Router& router, std::string_view version);

}  // namespace shopfloor::server
