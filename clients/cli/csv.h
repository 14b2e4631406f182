// CSV reading and writing with libcsv (RFC 4180 quoting).
#ifndef RAPPORT_CLIENTS_CLI_CSV_H_
#define RAPPORT_CLIENTS_CLI_CSV_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace rapport::cli {

// Reads records from `in` and calls `row(fields, record_number)` for each,
// record_number counting from 1 (the header). Stops when `row` returns false.
// Returns INVALID_ARGUMENT for malformed CSV (e.g. an unterminated quote).
absl::Status ReadCsv(std::istream& in,
                     const std::function<bool(std::vector<std::string>& fields,
                                              int64_t record_number)>& row);

// One CSV line (with "\n") of `fields`, quoted where needed.
std::string CsvLine(const std::vector<std::string>& fields);

}  // namespace rapport::cli

#endif  // RAPPORT_CLIENTS_CLI_CSV_H_
