// RAPPORT_CLIENT_EXPORT marks the symbols librapport_client exports; the
// library is built with -fvisibility=hidden.
#ifndef RAPPORT_CLIENT_EXPORT_H_
#define RAPPORT_CLIENT_EXPORT_H_

#define RAPPORT_CLIENT_EXPORT __attribute__((visibility("default")))

#endif  // RAPPORT_CLIENT_EXPORT_H_
