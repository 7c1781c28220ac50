/* floor_server.c: the start-up floor for bench/run.sh.
 *
 * The least a server can do: bind 127.0.0.1:0, print MOCKAPI_ADDR=host:port
 * on stdout (as mockapi does), then answer every connection with one fixed
 * HTTP 200 "{}" and close it. One thread, no parsing beyond "the request
 * head has arrived". SIGTERM ends it (default action).
 *
 * Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o build/bench/floor_server bench/floor_server.c */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: 3\r\nConnection: close\r\n\r\n{}\n";
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) {
        perror("floor_server: socket");
        return 1;
    }
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 128) != 0) {
        perror("floor_server: bind/listen");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    printf("MOCKAPI_ADDR=127.0.0.1:%u\n", (unsigned)ntohs(a.sin_port));
    fflush(stdout);

    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            continue;
        /* read until the end of the request head (or EOF / 8 KB) */
        char buf[8192];
        size_t got = 0;
        for (;;) {
            ssize_t n = read(c, buf + got, sizeof buf - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n") || got >= sizeof buf - 1)
                break;
        }
        if (got > 0) {
            ssize_t w = write(c, resp, sizeof resp - 1);
            (void)w;
        }
        close(c);
    }
}
