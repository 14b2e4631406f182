// Status propagation macros. Our Abseil (20220623) ships no
// ABSL_RETURN_IF_ERROR, so the project defines its own, once, here.
#ifndef RAPPORT_SERVER_COMMON_STATUS_MACROS_H_
#define RAPPORT_SERVER_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RAPPORT_STATUS_CONCAT_INNER_(a, b) a##b
#define RAPPORT_STATUS_CONCAT_(a, b) RAPPORT_STATUS_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function unless it is OK.
#define RAPPORT_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status rapport_status_ = (expr);           \
    if (!rapport_status_.ok()) return rapport_status_; \
  } while (0)

// `RAPPORT_ASSIGN_OR_RETURN(auto x, Foo());` evaluates the StatusOr `Foo()`,
// returns its status when not OK, otherwise moves its value into `x`.
#define RAPPORT_ASSIGN_OR_RETURN(lhs, expr) \
  RAPPORT_ASSIGN_OR_RETURN_IMPL_(           \
      RAPPORT_STATUS_CONCAT_(rapport_statusor_, __LINE__), lhs, expr)
#define RAPPORT_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#endif  // RAPPORT_SERVER_COMMON_STATUS_MACROS_H_
