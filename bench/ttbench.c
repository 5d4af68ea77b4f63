// SPDX-License-Identifier: GPL-2.0
/*
 * ttbench: the load generator of tcptimeo's benchmark (run inside the VM).
 *
 *   ttbench crr  --addr A --port P [--server-netns NS] [--client-netns NS]
 *                [--clients N] [--seconds T] [--warmup W] [--size B]
 *       N client threads, each in a loop: socket, connect, send a B-byte
 *       request, read the B-byte response and the server's FIN, close.
 *       N server threads accept on one listener, read the request, write
 *       the response and close (so TIME_WAIT sits on the server side and
 *       never eats the clients' ephemeral ports). Connections completed
 *       during T seconds after W seconds of warm-up give connections/s.
 *
 *   ttbench bulk --addr A --port P [netns options] [--bytes N]
 *       One connection; the client writes N bytes in 256 KiB writes, the
 *       server reads them all. Throughput = N / (last byte read - connect).
 *
 * Server and client run as threads of this one process (a thread may
 * setns() into a network namespace alone), so LD_PRELOAD covers both ends.
 * The first connection of each run is queried with getsockopt() on both
 * ends: the JSON result says what the socket options were, so every
 * configuration can prove it stamped (or did not).
 *
 *   ttbench sso  --addr A --port P [--opt keepidle|nodelay] [--seconds T]
 *       One connection; the client calls setsockopt() in a loop, with
 *       TCP_KEEPIDLE alternating 10 and 11 s (what tcptimeo watches) or
 *       TCP_NODELAY alternating 1 and 0 (what it does not). Calls/s and
 *       ns per call: the cost tcptimeo's setsockopt() probes add.
 *
 * --setsockopt (any mode): the application sets the benchmark rule's six
 * values itself (SO_KEEPALIVE 1, TCP_KEEPIDLE 10, TCP_KEEPINTVL 5,
 * TCP_KEEPCNT 3, TCP_USER_TIMEOUT 30000, TCP_SYNCNT 3): the client on
 * each socket before connect(), the server once on its listener (accepted
 * sockets inherit them). What stamping costs when nobody else does it.
 *
 * --host-cpu DIR (any mode): DIR is the host's /proc/<QEMU's pid>/task,
 * shared into the guest by bench/vm.sh. The QEMU process's CPU time
 * (sum of the first field of each thread's schedstat, ns) is read at the
 * start and end of the measurement, giving connections (or bytes) per
 * host CPU-second: under TCG the whole guest is that process, so this
 * counts the work done, unlike wall time, which also counts the time the
 * host gave to other processes on a shared machine.
 *
 * Output: one JSON object on stdout. Exit 0 on success, 1 on errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef TCP_USER_TIMEOUT
#define TCP_USER_TIMEOUT 18
#endif

struct opts_seen {
	int valid;
	int keepalive, keepidle, keepintvl, keepcnt, user_timeout, syncnt;
};

static struct {
	const char *mode;
	const char *addr;
	int port;
	const char *server_ns, *client_ns;
	int clients;
	double seconds, warmup;
	int size;
	long long bytes;
	const char *host_cpu;
	int setsockopt;
	const char *opt;
} cfg = {
	.opt = "keepidle",
	.addr = "127.0.0.1", .port = 5201, .clients = 2, .seconds = 3,
	.warmup = 0.5, .size = 64, .bytes = 1LL << 30,
};

static struct sockaddr_storage srv_addr;
static socklen_t srv_len;
static int listen_fd = -1;
static atomic_int stop;		/* clients: start no new connection */
static atomic_int srv_stop;	/* servers: every client is done */
static atomic_llong errors;
static char first_error[128];
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct opts_seen seen_client, seen_server;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of the host's QEMU process in seconds, or -1 (see above). */
static double host_cpu(void)
{
	char path[512], buf[128];
	unsigned long long sum = 0, ns;
	struct dirent *de;
	int fd, n, found = 0;
	DIR *d;

	if (!cfg.host_cpu)
		return -1;
	d = opendir(cfg.host_cpu);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/schedstat", cfg.host_cpu,
			 de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (sscanf(buf, "%llu", &ns) == 1) {
			sum += ns;
			found = 1;
		}
	}
	closedir(d);
	return found ? sum / 1e9 : -1;
}

static void print_host_cpu(double c0, double c1, double work)
{
	if (c0 < 0 || c1 < 0 || c1 <= c0)
		printf("\"host_cpu_s\":null,\"per_host_cpu_s\":null");
	else
		printf("\"host_cpu_s\":%.4f,\"per_host_cpu_s\":%.2f", c1 - c0,
		       work / (c1 - c0));
}

static void die(const char *what);

/* --setsockopt: the values of bench/ttrules.c's matching rule */
static void app_set(int fd)
{
	static const struct { int level, opt, val; } o[] = {
		{ SOL_SOCKET, SO_KEEPALIVE, 1 },
		{ IPPROTO_TCP, TCP_KEEPIDLE, 10 },
		{ IPPROTO_TCP, TCP_KEEPINTVL, 5 },
		{ IPPROTO_TCP, TCP_KEEPCNT, 3 },
		{ IPPROTO_TCP, TCP_USER_TIMEOUT, 30000 },
		{ IPPROTO_TCP, TCP_SYNCNT, 3 },
	};
	unsigned i;

	if (!cfg.setsockopt)
		return;
	for (i = 0; i < sizeof(o) / sizeof(o[0]); i++)
		if (setsockopt(fd, o[i].level, o[i].opt, &o[i].val, sizeof(int)))
			die("setsockopt");
}

static void die(const char *what)
{
	fprintf(stderr, "ttbench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void note_error(const char *what)
{
	if (atomic_fetch_add(&errors, 1) == 0)
		snprintf(first_error, sizeof(first_error), "%s: %s", what,
			 strerror(errno));
}

static void enter_netns(const char *name)
{
	char path[256];
	int fd;

	if (!name || !*name)
		return;
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	if (setns(fd, CLONE_NEWNET))
		die("setns");
	close(fd);
}

static void query(int fd, struct opts_seen *o)
{
	socklen_t l;

	pthread_mutex_lock(&seen_lock);
	if (!o->valid) {
		l = sizeof(int);
		getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o->keepalive, &l);
		l = sizeof(int);
		getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o->keepidle, &l);
		l = sizeof(int);
		getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o->keepintvl, &l);
		l = sizeof(int);
		getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o->keepcnt, &l);
		l = sizeof(int);
		getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &o->user_timeout, &l);
		l = sizeof(int);
		getsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &o->syncnt, &l);
		o->valid = 1;
	}
	pthread_mutex_unlock(&seen_lock);
}

static int read_full(int fd, char *buf, int len)
{
	int got = 0, n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			return n < 0 ? -1 : got;
		got += n;
	}
	return got;
}

static int write_full(int fd, const char *buf, int len)
{
	int done = 0, n;

	while (done < len) {
		n = write(fd, buf + done, len - done);
		if (n <= 0)
			return -1;
		done += n;
	}
	return done;
}

/* ---- connect / request / response / close ---- */

struct worker {
	pthread_t th;
	atomic_llong done;
};

static void *crr_server(void *arg)
{
	char *buf = malloc(cfg.size);
	int fd, first = 1;

	(void)arg;
	while (!atomic_load_explicit(&srv_stop, memory_order_relaxed)) {
		fd = accept(listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EINVAL ||
			    errno == EBADF)
				continue;
			note_error("accept");
			continue;
		}
		if (first) {
			query(fd, &seen_server);
			first = 0;
		}
		if (read_full(fd, buf, cfg.size) != cfg.size ||
		    write_full(fd, buf, cfg.size) != cfg.size)
			note_error("server io");
		close(fd);
	}
	free(buf);
	return NULL;
}

static void *crr_client(void *arg)
{
	struct worker *w = arg;
	char *buf = calloc(1, cfg.size + 1);
	int fd, first = 1;

	enter_netns(cfg.client_ns);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		fd = socket(srv_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			note_error("socket");
			continue;
		}
		app_set(fd);
		if (connect(fd, (struct sockaddr *)&srv_addr, srv_len)) {
			note_error("connect");
			close(fd);
			continue;
		}
		if (first) {
			query(fd, &seen_client);
			first = 0;
		}
		/* the response, then EOF: the server closed first */
		if (write_full(fd, buf, cfg.size) != cfg.size ||
		    read_full(fd, buf, cfg.size + 1) != cfg.size) {
			note_error("client io");
			close(fd);
			continue;
		}
		close(fd);
		atomic_fetch_add_explicit(&w->done, 1, memory_order_relaxed);
	}
	free(buf);
	return NULL;
}

static long long sum_done(struct worker *w, int n)
{
	long long s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += atomic_load(&w[i].done);
	return s;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void print_seen(const char *name, const struct opts_seen *o)
{
	printf("\"%s\":{\"keepalive\":%d,\"keepidle\":%d,\"keepintvl\":%d,"
	       "\"keepcnt\":%d,\"user_timeout\":%d,\"syn_retries\":%d}",
	       name, o->keepalive, o->keepidle, o->keepintvl, o->keepcnt,
	       o->user_timeout, o->syncnt);
}

/* Unblock the server threads stuck in accept(): they get EINVAL. */
static void wake_servers(void)
{
	shutdown(listen_fd, SHUT_RDWR);
}

static int run_crr(void)
{
	struct worker *cl = calloc(cfg.clients, sizeof(*cl));
	pthread_t *sv = calloc(cfg.clients, sizeof(*sv));
	long long c0, c1;
	double t0, t1, h0, h1;
	int i;

	for (i = 0; i < cfg.clients; i++)
		if (pthread_create(&sv[i], NULL, crr_server, NULL))
			die("pthread_create");
	for (i = 0; i < cfg.clients; i++)
		if (pthread_create(&cl[i].th, NULL, crr_client, &cl[i]))
			die("pthread_create");
	sleep_s(cfg.warmup);
	h0 = host_cpu();
	c0 = sum_done(cl, cfg.clients);
	t0 = now();
	sleep_s(cfg.seconds);
	c1 = sum_done(cl, cfg.clients);
	t1 = now();
	h1 = host_cpu();
	/* a client may have connected just before seeing stop: servers
	 * keep serving until every client has finished */
	atomic_store(&stop, 1);
	for (i = 0; i < cfg.clients; i++)
		pthread_join(cl[i].th, NULL);
	atomic_store(&srv_stop, 1);
	wake_servers();
	for (i = 0; i < cfg.clients; i++)
		pthread_join(sv[i], NULL);

	printf("{\"mode\":\"crr\",\"clients\":%d,\"seconds\":%.4f,"
	       "\"connections\":%lld,\"rate\":%.1f,\"errors\":%lld,",
	       cfg.clients, t1 - t0, c1 - c0, (c1 - c0) / (t1 - t0),
	       atomic_load(&errors));
	print_host_cpu(h0, h1, c1 - c0);
	putchar(',');
	print_seen("client", &seen_client);
	putchar(',');
	print_seen("server", &seen_server);
	printf(",\"first_error\":\"%s\"}\n", first_error);
	return atomic_load(&errors) || c1 == c0;
}

/* ---- bulk ---- */

#define BULK_CHUNK (256 * 1024)

static double bulk_t_end;
static long long bulk_got;

static void *bulk_server(void *arg)
{
	char *buf = malloc(BULK_CHUNK);
	ssize_t n;
	int fd;

	(void)arg;
	fd = accept(listen_fd, NULL, NULL);
	if (fd < 0) {
		note_error("accept");
		return NULL;
	}
	query(fd, &seen_server);
	while (bulk_got < cfg.bytes) {
		n = read(fd, buf, BULK_CHUNK);
		if (n <= 0) {
			note_error("bulk read");
			break;
		}
		bulk_got += n;
	}
	bulk_t_end = now();
	close(fd);
	free(buf);
	return NULL;
}

static int run_bulk(void)
{
	char *buf = calloc(1, BULK_CHUNK);
	long long sent = 0;
	pthread_t sv;
	double t0, h0, h1;
	int fd, n;

	if (pthread_create(&sv, NULL, bulk_server, NULL))
		die("pthread_create");
	enter_netns(cfg.client_ns);
	fd = socket(srv_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	app_set(fd);
	h0 = host_cpu();
	t0 = now();
	if (connect(fd, (struct sockaddr *)&srv_addr, srv_len))
		die("connect");
	query(fd, &seen_client);
	while (sent < cfg.bytes) {
		n = cfg.bytes - sent < BULK_CHUNK ? cfg.bytes - sent : BULK_CHUNK;
		if (write_full(fd, buf, n) != n) {
			note_error("bulk write");
			break;
		}
		sent += n;
	}
	pthread_join(sv, NULL);
	h1 = host_cpu();
	close(fd);
	printf("{\"mode\":\"bulk\",\"bytes\":%lld,\"seconds\":%.4f,"
	       "\"mbytes_per_s\":%.2f,\"errors\":%lld,",
	       bulk_got, bulk_t_end - t0, bulk_got / (bulk_t_end - t0) / 1e6,
	       atomic_load(&errors));
	print_host_cpu(h0, h1, bulk_got / 1e6);
	putchar(',');
	print_seen("client", &seen_client);
	putchar(',');
	print_seen("server", &seen_server);
	printf(",\"first_error\":\"%s\"}\n", first_error);
	return atomic_load(&errors) || bulk_got != cfg.bytes;
}

/* ---- sso: a setsockopt() loop ---- */

static int run_sso(void)
{
	int nodelay = !strcmp(cfg.opt, "nodelay");
	int opt = nodelay ? TCP_NODELAY : TCP_KEEPIDLE;
	int vals[2] = { nodelay ? 1 : 10, nodelay ? 0 : 11 };
	long long n = 0;
	double t0, t1, h0, h1, end;
	int c, a;

	if (!nodelay && strcmp(cfg.opt, "keepidle")) {
		fprintf(stderr, "ttbench: --opt keepidle|nodelay, not %s\n", cfg.opt);
		exit(2);
	}
	enter_netns(cfg.client_ns);
	c = socket(srv_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&srv_addr, srv_len))
		die("connect");
	a = accept(listen_fd, NULL, NULL);
	if (a < 0)
		die("accept");
	end = now() + cfg.warmup;
	while (now() < end)
		if (setsockopt(c, IPPROTO_TCP, opt, &vals[n++ & 1], sizeof(int)))
			die("setsockopt");
	n = 0;
	h0 = host_cpu();
	t0 = now();
	end = t0 + cfg.seconds;
	do {
		int i;

		for (i = 0; i < 1000; i++)
			if (setsockopt(c, IPPROTO_TCP, opt, &vals[i & 1],
				       sizeof(int)))
				die("setsockopt");
		n += 1000;
	} while (now() < end);
	t1 = now();
	h1 = host_cpu();
	query(c, &seen_client);
	printf("{\"mode\":\"sso\",\"opt\":\"%s\",\"seconds\":%.4f,"
	       "\"calls\":%lld,\"rate\":%.1f,\"ns_per_call\":%.1f,",
	       cfg.opt, t1 - t0, n, n / (t1 - t0), (t1 - t0) * 1e9 / n);
	print_host_cpu(h0, h1, n);
	putchar(',');
	print_seen("client", &seen_client);
	printf(",\"errors\":0,\"first_error\":\"\"}\n");
	close(a);
	close(c);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ttbench crr|bulk|sso [--addr A] [--port P] [--server-netns NS]\n"
		"       [--client-netns NS] [--clients N] [--seconds T] [--warmup W]\n"
		"       [--size B] [--bytes N] [--host-cpu /proc/PID/task] [--setsockopt]\n"
		"       [--opt keepidle|nodelay]\n");
	exit(2);
}

static void setup_listener(void)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&srv_addr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&srv_addr;
	int one = 1;

	memset(&srv_addr, 0, sizeof(srv_addr));
	if (inet_pton(AF_INET, cfg.addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(cfg.port);
		srv_len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, cfg.addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(cfg.port);
		srv_len = sizeof(*s6);
	} else {
		fprintf(stderr, "ttbench: bad address %s\n", cfg.addr);
		exit(2);
	}
	/* the listener lives in the server's namespace; threads inherit it */
	enter_netns(cfg.server_ns);
	listen_fd = socket(srv_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		die("socket");
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	app_set(listen_fd);
	if (bind(listen_fd, (struct sockaddr *)&srv_addr, srv_len))
		die("bind");
	if (listen(listen_fd, 4096))
		die("listen");
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2)
		usage();
	cfg.mode = argv[1];
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--setsockopt")) {
			cfg.setsockopt = 1;
			continue;
		}
		if (!v)
			usage();
		if (!strcmp(a, "--addr"))
			cfg.addr = v;
		else if (!strcmp(a, "--port"))
			cfg.port = atoi(v);
		else if (!strcmp(a, "--server-netns"))
			cfg.server_ns = v;
		else if (!strcmp(a, "--client-netns"))
			cfg.client_ns = v;
		else if (!strcmp(a, "--clients"))
			cfg.clients = atoi(v);
		else if (!strcmp(a, "--seconds"))
			cfg.seconds = atof(v);
		else if (!strcmp(a, "--warmup"))
			cfg.warmup = atof(v);
		else if (!strcmp(a, "--size"))
			cfg.size = atoi(v);
		else if (!strcmp(a, "--bytes"))
			cfg.bytes = atoll(v);
		else if (!strcmp(a, "--host-cpu"))
			cfg.host_cpu = v;
		else if (!strcmp(a, "--opt"))
			cfg.opt = v;
		else
			usage();
		i++;
	}
	if (cfg.clients < 1 || cfg.size < 1 || cfg.seconds <= 0 || cfg.bytes < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	setup_listener();
	if (!strcmp(cfg.mode, "crr"))
		return run_crr();
	if (!strcmp(cfg.mode, "bulk"))
		return run_bulk();
	if (!strcmp(cfg.mode, "sso"))
		return run_sso();
	usage();
	return 2;
}
