/* The order a dying process lets go of its descriptors, which imwired's
 * liveness claim relies on (util/fd_order.h), and moving a descriptor
 * above the others. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fd_order.h"
#include "testlib.h"

/* A child holds one end of each of two socket pairs, at a low and at a
 * high descriptor, and is killed with -9: the peer of the high one must
 * see its hang-up first. The child dies only once both peers are watched:
 * a peer added to epoll after the hang-up is queued in the order of the
 * adds (low first), which says nothing of the kernel's order (a loaded
 * machine let the child die first now and then). */
static void test_dying_process_releases_the_highest_first(void)
{
	int trial, high_first = 0;

	for (trial = 0; trial < 10; trial++) {
		int lo[2], hi[2], go[2], ep, n;
		struct epoll_event ev, got[2];
		char c = 0;
		pid_t pid;

		CHECK_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, lo), 0);
		CHECK_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, hi), 0);
		CHECK_INT_EQ(pipe(go), 0);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			close(lo[1]);
			close(hi[1]);
			close(go[1]);
			if (dup2(hi[0], 300) < 0)
				_exit(1);
			close(hi[0]);
			if (read(go[0], &c, 1) != 1)
				_exit(1);
			close(go[0]);
			kill(getpid(), SIGKILL);
			_exit(1);
		}
		close(lo[0]);
		close(hi[0]);
		close(go[0]);
		ep = epoll_create1(0);
		CHECK(ep >= 0);
		ev.events = EPOLLRDHUP | EPOLLHUP;
		ev.data.fd = lo[1];
		epoll_ctl(ep, EPOLL_CTL_ADD, lo[1], &ev);
		ev.data.fd = hi[1];
		epoll_ctl(ep, EPOLL_CTL_ADD, hi[1], &ev);
		CHECK_INT_EQ(write(go[1], &c, 1), 1);
		close(go[1]);
		waitpid(pid, NULL, 0);
		n = epoll_wait(ep, got, 2, 1000);
		CHECK(n >= 1);
		if (n >= 1 && got[0].data.fd == hi[1])
			high_first++;
		close(ep);
		close(lo[1]);
		close(hi[1]);
	}
	CHECK_INT_EQ(high_first, 10);
}

static void test_raise_above_the_others(void)
{
	int a = socket(AF_UNIX, SOCK_DGRAM, 0), b = socket(AF_UNIX, SOCK_DGRAM, 0);
	int c = socket(AF_UNIX, SOCK_DGRAM, 0), moved;
	struct rlimit was, low;

	CHECK(a >= 0 && b >= 0 && c >= 0);
	moved = fd_order_raise(a);
	CHECK_INT_EQ(moved, FD_ORDER_HIGH);
	CHECK(moved > b && moved > c);
	CHECK(fcntl(moved, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(a, F_GETFD) < 0 && errno == EBADF); /* the old one is closed */
	/* already there: nothing moves */
	CHECK_INT_EQ(fd_order_raise(moved), moved);
	close(moved);
	/* a lower limit on descriptors: as high as it allows */
	CHECK_INT_EQ(getrlimit(RLIMIT_NOFILE, &was), 0);
	low = was;
	low.rlim_cur = 100;
	CHECK_INT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
	moved = fd_order_raise(b);
	CHECK(moved > c && moved < 100);
	CHECK_INT_EQ(moved, FD_ORDER_HIGH / 16); /* 1023 halved until under 100 */
	CHECK_INT_EQ(setrlimit(RLIMIT_NOFILE, &was), 0);
	close(moved);
	close(c);
	CHECK_INT_EQ(fd_order_raise(-1), -1);
}

int main(void)
{
	RUN_TEST(test_dying_process_releases_the_highest_first);
	RUN_TEST(test_raise_above_the_others);
	TEST_MAIN_END();
}
