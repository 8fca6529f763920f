// Replay driver for fuzz targets when libFuzzer is not available (g++ builds, CI).
// Runs every file in the given corpus directories/files through LLVMFuzzerTestOneInput,
// then --iterations=N deterministic mutations of them (byte flips, truncations,
// insertions, splices). A crash or sanitizer report fails the test.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::string> LoadCorpus(const std::vector<std::string>& paths) {
  std::vector<std::string> corpus;
  auto load = [&](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  for (const auto& path : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (entry.is_regular_file()) load(entry.path());
      }
    } else if (std::filesystem::exists(path, ec)) {
      load(path);
    }
  }
  return corpus;
}

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 10000;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--iterations=", 13) == 0) {
      iterations = std::strtol(argv[i] + 13, nullptr, 10);
    } else if (argv[i][0] != '-') {
      paths.emplace_back(argv[i]);
    }
  }
  std::vector<std::string> corpus = LoadCorpus(paths);
  for (const auto& input : corpus) Run(input);
  if (corpus.empty()) corpus.emplace_back();

  std::mt19937_64 rng(0x5350u);  // fixed seed: failures reproduce
  for (long it = 0; it < iterations; ++it) {
    std::string input = corpus[rng() % corpus.size()];
    int mutations = 1 + static_cast<int>(rng() % 8);
    for (int m = 0; m < mutations; ++m) {
      switch (rng() % 6) {
        case 0:  // flip a bit
          if (!input.empty()) input[rng() % input.size()] ^= static_cast<char>(1u << (rng() % 8));
          break;
        case 1:  // random byte
          if (!input.empty()) input[rng() % input.size()] = static_cast<char>(rng());
          break;
        case 2:  // truncate
          if (!input.empty()) input.resize(rng() % input.size());
          break;
        case 3:  // insert random bytes
          input.insert(input.empty() ? 0 : rng() % input.size(), std::string(1 + rng() % 8, static_cast<char>(rng())));
          break;
        case 4: {  // splice with another corpus entry
          const std::string& other = corpus[rng() % corpus.size()];
          if (!other.empty()) input += other.substr(rng() % other.size());
          break;
        }
        case 5:  // interesting values
          if (!input.empty()) {
            static const char kInteresting[] = {0, 1, 0x7f, static_cast<char>(0x80), static_cast<char>(0xff), '\n', '"', '\\', ',', '='};
            input[rng() % input.size()] = kInteresting[rng() % sizeof(kInteresting)];
          }
          break;
      }
    }
    Run(input);
  }
  std::printf("fuzz replay: %zu corpus inputs, %ld mutations, no crash\n", corpus.size(), iterations);
  return 0;
}
