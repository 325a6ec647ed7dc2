/* ctorch/export.h — symbol visibility. Libraries build with -fvisibility=hidden; TC_API marks the
 * public functions. */
#ifndef CTORCH_EXPORT_H
#define CTORCH_EXPORT_H
#if defined(_WIN32)
#define TC_API
#elif defined(__GNUC__)
#define TC_API __attribute__((visibility("default")))
#else
#define TC_API
#endif
#endif
