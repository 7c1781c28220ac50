/* slow_bench.c: N clients that ask for one path and never read (bench/run.sh
 * section "slow"). Usage: slow_bench PORT PATH N HOLD_MS
 * Opens N connections to 127.0.0.1:PORT with a 4 KiB receive buffer, sends
 * "GET PATH", prints "opened N" once every request is sent, keeps them
 * unread for HOLD_MS, prints "closed" after closing them all, exits 0. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: slow_bench PORT PATH N HOLD_MS\n");
        return 2;
    }
    int port = atoi(argv[1]), n = atoi(argv[3]), hold = atoi(argv[4]);
    int *fds = calloc((size_t)n, sizeof *fds);
    char req[1024];
    int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", argv[2]);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    for (int i = 0; i < n; i++) {
        int rb = 4096;
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
            send(fds[i], req, (size_t)rl, 0) != rl) {
            perror("slow_bench: connect/send");
            return 1;
        }
    }
    printf("opened %d\n", n);
    fflush(stdout);
    struct timespec ts = {hold / 1000, (long)(hold % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    printf("closed\n");
    fflush(stdout);
    free(fds);
    return 0;
}
