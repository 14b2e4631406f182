#include "cli/output.h"

#include <fmt/core.h>
#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>

namespace rapport::cli {

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = headers_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  auto render_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      if (i + 1 == widths.size()) {
        line += cell;
      } else {
        line += fmt::format("{:<{}}  ", cell, widths[i]);
      }
    }
    out += line + "\n";
  };
  render_row(headers_);
  for (const auto& row : rows_) render_row(row);
  return out;
}

std::string MessageToJson(const google::protobuf::Message& message,
                          bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    return "{}";
  }
  if (pretty && (json.empty() || json.back() != '\n')) json += "\n";
  return json;
}

std::string JsonToYaml(const std::string& json) {
  YAML::Node node = YAML::Load(json);
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

void PrintResult(const google::protobuf::Message& message,
                 const std::string& format,
                 const std::function<Table()>& table) {
  std::string text;
  if (format == "json") {
    text = MessageToJson(message, /*pretty=*/true);
  } else if (format == "yaml") {
    text = JsonToYaml(MessageToJson(message, /*pretty=*/false));
  } else {
    text = table().Render();
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace rapport::cli
