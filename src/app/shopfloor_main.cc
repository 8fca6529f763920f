#include "app/app.h"

int main(int argc, char** argv) { return shopfloor::app::RunCli(argc, argv); }
