/* Logging for the hypervisor process: one line per message, on stderr. */
#ifndef VMSCOPE_LOG_H
#define VMSCOPE_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_threshold >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

/*
 * The last error this thread logged, "" when none since log_clear_last_error:
 * how the REST API tells its client why vm.boot failed, in the words the
 * command line would have used.
 */
const char *log_last_error(void);
void log_clear_last_error(void);

/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *name);

#endif
