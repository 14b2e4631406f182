#include "cli/csv.h"

#include <csv.h>

#include "absl/strings/str_cat.h"

namespace rapport::cli {
namespace {

struct ParseState {
  std::vector<std::string> fields;
  std::vector<std::vector<std::string>> ready;
};

void OnField(void* data, size_t length, void* state) {
  static_cast<ParseState*>(state)->fields.emplace_back(
      static_cast<const char*>(data), length);
}

void OnRow(int terminator, void* state) {
  auto* parse = static_cast<ParseState*>(state);
  parse->ready.push_back(std::move(parse->fields));
  parse->fields.clear();
}

}  // namespace

absl::Status ReadCsv(std::istream& in,
                     const std::function<bool(std::vector<std::string>& fields,
                                              int64_t record_number)>& row) {
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    return absl::InternalError("csv_init failed");
  }
  ParseState state;
  int64_t record_number = 0;
  std::vector<char> buffer(1 << 16);
  bool stopped = false;
  absl::Status status;
  auto drain = [&]() {
    for (auto& fields : state.ready) {
      if (!row(fields, ++record_number)) {
        stopped = true;
        break;
      }
    }
    state.ready.clear();
  };
  while (!stopped && in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    size_t got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    if (csv_parse(&parser, buffer.data(), got, OnField, OnRow, &state) != got) {
      status = absl::InvalidArgumentError(
          absl::StrCat("CSV after record ", record_number + state.ready.size(),
                       ": ", csv_strerror(csv_error(&parser))));
      break;
    }
    drain();
  }
  if (status.ok() && !stopped) {
    if (csv_fini(&parser, OnField, OnRow, &state) != 0) {
      status = absl::InvalidArgumentError(
          absl::StrCat("CSV at the end: ", csv_strerror(csv_error(&parser))));
    } else {
      drain();
    }
  }
  csv_free(&parser);
  return status;
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    const std::string& field = fields[i];
    if (field.find_first_of(",\"\r\n") == std::string::npos &&
        (field.empty() || (field.front() != ' ' && field.back() != ' '))) {
      line += field;
      continue;
    }
    std::string quoted(field.size() * 2 + 2, '\0');
    size_t written =
        csv_write(quoted.data(), quoted.size(), field.data(), field.size());
    quoted.resize(written);
    line += quoted;
  }
  line += '\n';
  return line;
}

}  // namespace rapport::cli
