/* seed: gcloud-config and static files written into the covered directory
 * at mount (see render_gcp_seeded). */
#ifndef CREDFS_SEED_H
#define CREDFS_SEED_H

struct config;
struct error;

/* Writes each seeded file of cfg under dirfd (the covered directory):
 * absent, whole; present, merged (render_gcp_seed); atomically, owned as
 * its directory is, in the file's mode.  0, or a negative errno with err
 * naming the file. */
int seed_files(const struct config *cfg, int dirfd, struct error *err)
    __attribute__((warn_unused_result));

#endif
