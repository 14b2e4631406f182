// rapportctl output: a table (default), one JSON document (protobuf's JSON
// mapping) or YAML (converted from that JSON).
#ifndef RAPPORT_CLIENTS_CLI_OUTPUT_H_
#define RAPPORT_CLIENTS_CLI_OUTPUT_H_

#include <google/protobuf/message.h>

#include <functional>
#include <string>
#include <vector>

namespace rapport::cli {

// Columns and rows, printed aligned with two spaces between columns.
class Table {
 public:
  explicit Table(std::vector<std::string> headers)
      : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// `message` in protobuf's JSON mapping; `pretty`: indented, else one line.
std::string MessageToJson(const google::protobuf::Message& message,
                          bool pretty);

// The same document as YAML.
std::string JsonToYaml(const std::string& json);

// Prints `message` to stdout as `format` ("table", "json" or "yaml"); for a
// table, `table` builds it.
void PrintResult(const google::protobuf::Message& message,
                 const std::string& format,
                 const std::function<Table()>& table);

}  // namespace rapport::cli

#endif  // RAPPORT_CLIENTS_CLI_OUTPUT_H_
