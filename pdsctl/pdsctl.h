/*
 * pdsctl: the administration tool.
 */
#ifndef PDSCTL_H
#define PDSCTL_H

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

struct cmd {
	const char	*name;
	const char	*args;		/* for usage */
	int		 minargs;
	int		 maxargs;
	int		 online;	/* needs the daemon */
	int		(*fn)(int, char **);
};

/* pdsctl.c */
int	ctl_connect(void);
void	ctl_send(int, const void *, size_t);
int	ctl_wait_ok(void);
struct imsg;
int	ctl_next(struct imsg *);

/* ctl_car.c: offline, no daemon */
int	cmd_cbor2json(int, char **);
int	cmd_json2cbor(int, char **);
int	cmd_inspect(int, char **);

/* ctl_daemon.c */
int	cmd_status(int, char **);
int	cmd_reload(int, char **);
int	cmd_log(int, char **);

#endif
