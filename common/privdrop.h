#ifndef PDS_PRIVDROP_H
#define PDS_PRIVDROP_H

/* chroot into root and become user; fatal on any failure. */
void	privdrop(const char *, const char *);

#endif
